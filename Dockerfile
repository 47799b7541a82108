# syntax=docker/dockerfile:1
# Bastion container image.
#
#   docker build -t bastion .
#   docker run -d -p 2222:2222 -p 8080:8080 -v bastion-data:/data -e BASTION_ADMIN_PASSWORD=… bastion
#
# The command is the bastion CLI's: `start` (default: gateway + web in one process),
# `gateway`, `server`, `migrate`, `reset-password <user>`. Configuration comes only from the
# environment (README.md, .env.example).
#
# BASE_IMAGE is any Debian bookworm image with Node 20 and npm in /usr/local (the official
# one by default); the test suite builds on a local stand-in (scripts/podman-base-image.sh).
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency, from the lock file ----
FROM ${BASE_IMAGE} AS deps
# sqlite3 and ssh2's cpu-features compile from source where no prebuilt binary can be fetched;
# node-gyp uses the image's own Node headers instead of downloading them. sqlite3 is built
# against Debian's libsqlite3 (npm_config_sqlite=/usr: node-gyp passes it on as the `sqlite`
# gyp variable) instead of compiling SQLite's 9 MB amalgamation, which took 9–11 minutes of a
# cold build on two cores; the runtime stage has libsqlite3-0.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local npm_config_sqlite=/usr npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

# ---- web: the web app, built here once (not at first start); rebuilt only when web/ changes ----
FROM deps AS web
COPY web ./web
RUN npm run build

# ---- server: the server side compiled to JavaScript (dist/), as `npm start` runs it: no tsx at run time ----
FROM deps AS server
COPY tsconfig.json ./
COPY scripts/build-server.mjs ./scripts/
COPY bin ./bin
COPY core ./core
COPY gateway ./gateway
COPY server ./server
COPY migrations ./migrations
RUN node scripts/build-server.mjs

# ---- prod-deps: only what runs, without type declarations, docs, source maps and build leftovers ----
FROM deps AS prod-deps
RUN npm prune --omit=dev \
 && find node_modules -type f \( -name '*.md' -o -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.tsbuildinfo' \) -delete \
 && rm -rf node_modules/typeorm/browser node_modules/node-gyp node_modules/sqlite3/build/Release/obj* node_modules/sqlite3/build/Release/.deps node_modules/sqlite3/deps node_modules/sqlite3/src \
    node_modules/*/test node_modules/*/tests node_modules/*/example node_modules/*/examples node_modules/*/docs \
    node_modules/@*/*/test node_modules/@*/*/tests node_modules/@*/*/example node_modules/@*/*/examples node_modules/@*/*/docs

# ---- rootfs: the runtime file system, without npm and Node's headers ----
FROM ${BASE_IMAGE} AS rootfs
# openssh-client and ansible run the operations (connectivity tests, facts, pushing system
# users): ansible-core, plus the one collection our playbooks use beyond it (ansible.posix, for
# authorized_key) taken from Debian's full `ansible` package without installing its 400 MB;
# sshpass for password logins. tini reaps ssh/ansible children and passes SIGTERM on. Left out:
# perl (only the usrmerge package of some bookworm bases needs it; usr-is-merged says the same
# without it), ansible-test, the MAC vendor tables of python3-netaddr (ieee-data), which no
# playbook of ours looks up, and glibc's iconv modules for legacy charsets (gconv): Node,
# Python and OpenSSH here convert text themselves.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-client ansible-core sshpass tini ca-certificates libsqlite3-0 \
 && cd /tmp && apt-get download ansible \
 && mkdir -p /usr/share/ansible/collections \
 && dpkg-deb --fsys-tarfile ansible_*.deb | tar -x -C /tmp ./usr/lib/python3/dist-packages/ansible_collections/ansible/posix \
 && mv /tmp/usr/lib/python3/dist-packages/ansible_collections /usr/share/ansible/collections/ \
 && rm -rf /tmp/usr /tmp/ansible_*.deb \
 && if dpkg -s usrmerge >/dev/null 2>&1; then \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends usr-is-merged \
      && DEBIAN_FRONTEND=noninteractive apt-get purge -y usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36 libgdbm-compat4; \
    fi \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* /usr/share/doc /usr/share/man \
    /usr/lib/python3/dist-packages/ansible_test /usr/share/ieee-data/*.txt /usr/share/ieee-data/*.csv /usr/lib/*-linux-gnu*/gconv \
 && rm -rf /usr/local/include /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --system --gid 10001 bastion \
 && useradd --system --uid 10001 --gid bastion --home-dir /data --shell /usr/sbin/nologin bastion \
 && mkdir -p /data && chown bastion:bastion /data && chmod 0700 /data
COPY --from=prod-deps /app/node_modules /app/node_modules
COPY --from=web /app/web/dist /app/web/dist
# package.json says the .js files are ES modules.
COPY package.json /app/
COPY --from=server /app/dist /app/dist
RUN ln -s /app/dist/bin/bastion.js /usr/local/bin/bastion

# ---- runtime: one layer, so what rootfs removed from the base is really gone ----
FROM scratch
COPY --from=rootfs / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    BASTION_DATA_DIR=/data \
    BASTION_HTTP_PORT=8080 \
    BASTION_SSH_PORT=2222 \
    MALLOC_ARENA_MAX=2
WORKDIR /app
USER bastion
VOLUME ["/data"]
EXPOSE 2222 8080
# /healthz answers on the web port, or on BASTION_METRICS_PORT when set (a `gateway`-only container).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "/app/dist/bin/healthcheck.mjs"]
STOPSIGNAL SIGTERM
# The same Node flags and MALLOC_ARENA_MAX (above) as the bin's shebang and `npm start`
# (bin/memoryFlags.ts: small young generation, one V8 helper thread and two malloc arenas, less
# RSS; garbage collection without helper threads, shorter pauses on a busy host).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=2", "--single-threaded-gc", "--v8-pool-size=1", "/app/dist/bin/bastion.js"]
CMD ["start"]
