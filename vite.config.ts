import { defineConfig } from 'vite';

// Builds the installer wizard (src/wizard) into dist/wizard, served by the daemon.
export default defineConfig({
  root: 'src/wizard',
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: '../../dist/wizard', emptyOutDir: true, target: 'es2020' },
});
