import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the API runs on :8080; the built UI is served by the API itself at `/`.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8080', ws: true },
      '/exports': 'http://127.0.0.1:8080',
    },
  },
  build: { outDir: 'dist', sourcemap: false },
});
