// Uses the JavaScript template's plugboard.js (templates/js), copied beside
// this file by the test, as a plugin would: a task titled "set" gets a patch
// setting its project and a tag, "unset" one removing its project, "boom"
// throws inside a reported handler.
import { update } from 'plugboard:task-events/tasks@2.2.0';
import { info, reported, taskPatch } from './plugboard.js';

function explode(title) {
  throw new TypeError(`cannot take ${title}`);
}

export const handler = {
  init: reported((config) => {}),
  onEvent: reported((event) => {
    if (event.tag !== 'task-created') {
      return;
    }
    const task = event.val;
    if (task.title === 'set') {
      update(task.id, taskPatch({ project: 'home', addTags: ['helped'] }));
      info('patched');
    } else if (task.title === 'unset') {
      update(task.id, taskPatch({ project: null }));
    } else if (task.title === 'boom') {
      explode(task.title);
    }
  }),
  runCommand: reported((name, args) => 'ok'),
};

export const lifecycle = {
  shutdown() {},
  health() {
    return 'ok';
  },
};
