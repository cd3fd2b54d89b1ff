FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# npm install rather than ci: the lock file records only one platform's optional binaries.
RUN npm install --no-audit --no-fund
COPY . .
ENTRYPOINT ["node", "bin/runsync.js"]
CMD ["worker", "--schedules"]
