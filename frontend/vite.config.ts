import { defineConfig } from "vitest/config";

// The build output is a contract with Django: it serves frontend/dist/ at /static/app/ and the
// page shell links exactly /static/app/app.js and /static/app/app.css (fixed names, no hashes).
// `npm run dev` serves index.html and proxies the API and websockets to a Django at
// RASTERLAB_BACKEND (default http://127.0.0.1:8000).
const backend = process.env.RASTERLAB_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig(({ command }) => ({
  base: command === "build" ? "/static/app/" : "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: { app: "src/main.ts" },
      output: {
        entryFileNames: "app.js",
        chunkFileNames: "chunk-[name].js",
        assetFileNames: "[name][extname]",
      },
    },
  },
  server: {
    proxy: {
      "/api": backend,
      "/accounts": backend,
      "/static": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
}));
