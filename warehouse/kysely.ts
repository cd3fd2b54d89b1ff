/**
 * A small Kysely dialect for ClickHouse that never puts a value into SQL text.
 *
 * Every value Kysely would bind becomes a ClickHouse server-side parameter
 * `{pN:Type}` sent as `query_params`, so the server parses it as data: there is no
 * quoting to get wrong (the public dialect on npm escapes `'` as `\'`, and a value
 * ending in a backslash escapes that escape). Queries run through the caller's one
 * `@clickhouse/client` instance (embedded chDB or HTTP); this module creates none.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import {
  CompiledQuery,
  DefaultQueryCompiler,
  DialectAdapterBase,
  Kysely,
  sql,
  type RawBuilder,
  SelectQueryNode,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { Database } from '../schema/tables.js';

/** The ClickHouse type a JS value is sent as. */
export function clickhouseTypeOf(value: unknown): string {
  if (value === null || value === undefined) return 'Nullable(String)';
  if (typeof value === 'string') return 'String';
  if (typeof value === 'boolean') return 'Bool';
  if (typeof value === 'bigint') return 'Int64';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot send ${value} as a ClickHouse parameter`);
    return Number.isInteger(value) ? 'Int64' : 'Float64';
  }
  if (value instanceof Date) return "DateTime64(3, 'UTC')";
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    if (first === undefined) return 'Array(String)';
    let inner = clickhouseTypeOf(first);
    // Mixed integers and fractions in one array: the wider type.
    if (inner === 'Int64' && value.some((v) => typeof v === 'number' && !Number.isInteger(v))) inner = 'Float64';
    const hasNull = value.some((v) => v === null || v === undefined);
    return `Array(${hasNull && !inner.startsWith('Nullable') ? `Nullable(${inner})` : inner})`;
  }
  throw new TypeError(`cannot send a ${typeof value} as a ClickHouse parameter`);
}

/** The value as both clients accept it for the inferred type (Dates keep their milliseconds). */
export function parameterValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('cannot send an invalid Date as a ClickHouse parameter');
    return value.toISOString().replace('T', ' ').replace('Z', '');
  }
  if (Array.isArray(value)) return value.map(parameterValue);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export class ClickHouseQueryCompiler extends DefaultQueryCompiler {
  protected override getCurrentParameterPlaceholder(): string {
    // Not used: appendValue below writes typed placeholders itself.
    return `{p${this.numParameters}:String}`;
  }

  protected override appendValue(parameter: unknown): void {
    this.addParameter(parameter);
    this.append(`{p${this.numParameters}:${clickhouseTypeOf(parameter)}}`);
  }

  /** `sql.lit()` strings too go through parameters: no literal quoting anywhere. */
  protected override appendImmediateValue(value: unknown): void {
    if (typeof value === 'string' || value instanceof Date) this.appendValue(value);
    else super.appendImmediateValue(value);
  }

  protected override getLeftIdentifierWrapper(): string {
    return '`';
  }

  protected override getRightIdentifierWrapper(): string {
    return '`';
  }

  protected override sanitizeIdentifier(identifier: string): string {
    return identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`');
  }
}

class ClickHouseAdapter extends DialectAdapterBase {
  override get supportsTransactionalDdl(): boolean {
    return false;
  }
  override get supportsReturning(): boolean {
    return false;
  }
  override async acquireMigrationLock(): Promise<void> {
    throw new Error('runsync migrates with warehouse/migrate.ts, not Kysely');
  }
  override async releaseMigrationLock(): Promise<void> {}
}

/**
 * Appended to every SELECT so UInt64/Int64 arrive as JSON numbers, matching the
 * table interfaces. Per statement, in the SQL text: on a chDB connection a
 * `clickhouse_settings` option would become a sticky session SET.
 */
const SELECT_SETTINGS = ' SETTINGS output_format_json_quote_64bit_integers = 0';

export function toQueryParams(parameters: readonly unknown[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  parameters.forEach((v, i) => (params[`p${i + 1}`] = parameterValue(v)));
  return params;
}

class ClickHouseConnection implements DatabaseConnection {
  constructor(private readonly client: ClickHouseClient) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const query_params = toQueryParams(compiled.parameters);
    // Raw queries (sql`…`) are read as rows: runsync uses them for SELECTs only.
    const isSelect = SelectQueryNode.is(compiled.query) || compiled.query.kind === 'RawNode';
    if (isSelect) {
      const rs = await this.client.query({ query: compiled.sql + SELECT_SETTINGS, query_params, format: 'JSONEachRow' });
      return { rows: await rs.json<R>() };
    }
    await this.client.command({ query: compiled.sql, query_params });
    return { rows: [] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the runsync ClickHouse dialect');
  }
}

class ClickHouseDriver implements Driver {
  constructor(private readonly client: ClickHouseClient) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return new ClickHouseConnection(this.client);
  }
  async beginTransaction(): Promise<void> {
    throw new Error('ClickHouse has no transactions');
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  // The client belongs to whoever opened the warehouse; it is closed there.
  async destroy(): Promise<void> {}
}

export class ClickHouseDialect implements Dialect {
  constructor(private readonly client: ClickHouseClient) {}
  createDriver(): Driver {
    return new ClickHouseDriver(this.client);
  }
  createQueryCompiler(): QueryCompiler {
    return new ClickHouseQueryCompiler();
  }
  createAdapter() {
    return new ClickHouseAdapter();
  }
  createIntrospector(): DatabaseIntrospector {
    const no = async (): Promise<never> => {
      throw new Error('introspection is not supported: the tables are typed in schema/tables.ts');
    };
    return { getSchemas: no, getTables: no, getMetadata: no };
  }
}

/**
 * A point in time as a `DateTime64(3, 'UTC')` parameter, typed like the text the
 * time columns read as, so `where('finished_at', '>=', at(ms))` type-checks.
 */
export function at(time: number | Date): RawBuilder<string> {
  return sql<string>`${time instanceof Date ? time : new Date(time)}`;
}

/** A typed query builder over the project's one ClickHouse client. */
export function warehouseDb<DB = Database>(client: ClickHouseClient): Kysely<DB> {
  return new Kysely<DB>({ dialect: new ClickHouseDialect(client) });
}

export type WarehouseDb = Kysely<Database>;
