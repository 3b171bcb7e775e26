import { defineConfig } from "vitest/config";

// No React plugin: esbuild compiles TSX with the automatic runtime, which keeps the build lean
// (no Babel). `npm run dev` proxies the API to a local `hw server`.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "../src/headwater/server/static",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8765",
      "/healthz": "http://127.0.0.1:8765",
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
