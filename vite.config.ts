import { defineConfig } from 'vite';

// The daemon's pages: the installer wizard (src/wizard → dist/wizard, `vite build`) and the
// Backup app (src/app → dist/app, `vite build --mode app`). Both import src/ui.
export default defineConfig(({ mode }) => {
  const page = mode === 'app' ? 'app' : 'wizard';
  return {
    root: `src/${page}`,
    base: './',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { outDir: `../../dist/${page}`, emptyOutDir: true, target: 'es2020' },
  };
});
