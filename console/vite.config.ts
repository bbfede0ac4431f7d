// Builds the console into internal/console/dist, which the Go binary
// embeds. The output must be byte-for-byte reproducible from the lock file:
// CI rebuilds it and fails on any difference.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  publicDir: "public",
  // Preact's automatic JSX runtime, without a plugin.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../internal/console/dist",
    emptyOutDir: true,
    // Every asset lives under /_console/: a path no Elasticsearch index
    // can take (index names never start with "_"), so the console and the
    // Elasticsearch-compatible API share the root without ambiguity.
    assetsDir: "_console",
    sourcemap: false,
    // The manifest tells the bundle-budget test which files the first page
    // loads.
    manifest: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
});
