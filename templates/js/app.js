// {{name}}: a plugboard plugin. It logs the title of every task created.
// Build: npm install && npm run build
import { reported } from './plugboard.js';

let seen = 0;

export const handler = {
  init: reported((config) => {}),

  onEvent: reported((event) => {
    if (event.tag === 'task-created') {
      seen += 1;
      // Whatever the plugin writes with console.log goes to its log.
      console.log(`task created: ${event.val.title} (${seen} so far)`);
    }
  }),

  runCommand: reported((name, args) => {
    throw { tag: 'invalid', val: `unknown command ${name}` };
  }),
};

// What the host asks of the plugin around its life: `shutdown` before it
// unloads, reloads or stops the plugin (flush what you keep), `health` for
// `plugboard list` and the console.
export const lifecycle = {
  shutdown() {},
  health() {
    return 'ok';
  },
};
