/** The workflow id of a source's sync: one sync in flight per source, whoever starts it. */
export const syncWorkflowId = (source: string): string => `sync-${source}`;
