// Monaco's base editor worker, bundled on its own (see ../playground.build.ts).
import 'monaco-editor/esm/vs/editor/editor.worker.js';
