# The one Skiff image: skiffd (`skiff skiffd`), the proxy (`skiff proxy`) and traffic capture
# (`skiff iptables`, run by the injected istio-init container). Build it from the repository root
# on a machine with a container engine (docs/kubernetes.md, "The image"):
#
#   docker build -t skiff:0.1.0 .
#   skiff manifest generate --image skiff:0.1.0 | kubectl apply -f -

# Build stage: compile src/ only (tests, benchmarks and samples stay out of the image), then keep
# only the runtime dependencies.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN printf '{"extends":"./tsconfig.json","include":["src/**/*.ts"]}\n' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json \
 && npm prune --omit=dev
# The SO_ORIGINAL_DST addon the proxy's capture mode reads original destinations with.
COPY native ./native
RUN node native/build.mjs --strict

# Runtime stage: Node 20 and the tools `skiff iptables` drives.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/skiff
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/native/build/Release/original_dst.node ./native/build/Release/
COPY --from=build /src/src/dashboard/ui ./src/dashboard/ui
COPY bin ./bin
# Istio's proxy uid: traffic capture leaves this uid's own connections alone. istio-init runs as
# root with NET_ADMIN by its own securityContext.
USER 1337:1337
ENTRYPOINT ["node", "/opt/skiff/bin/skiff.js"]
