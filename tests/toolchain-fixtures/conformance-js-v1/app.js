// The conformance scenario (wit/CONFORMANCE.md) in JavaScript for the
// frozen task-events@1, built with componentize-js against that world's
// WIT: it logs what it receives and performs the host call the task's title
// names.
import { getTask, log, updateTask } from 'plugboard:task-events/host@1.0.0';

// Events titled `call:instance` this instance handled.
let eventsInThisInstance = 0;

const info = (message) => log('info', message);

const describe = (t) => `title=${t.title} done=${t.done} tags=${t.tags.join(',')}`;

function act(task) {
  switch (task.title) {
    case 'call:get': {
      const found = getTask(task.id);
      info(`get ${found === undefined ? 'none' : found.title}`);
      const missing = getTask('00000000-0000-0000-0000-000000000000');
      info(`get-missing ${missing === undefined ? 'none' : 'some'}`);
      break;
    }
    case 'call:update': {
      const tags = [...task.tags, 'updated'].filter((t) => t !== 'drop-me');
      updateTask({ ...task, done: true, tags });
      info('updated');
      break;
    }
    case 'call:log':
      for (const level of ['trace', 'debug', 'info', 'warn', 'error']) {
        log(level, `level ${level}`);
      }
      break;
    case 'call:errors':
      try {
        updateTask({ ...task, id: 'no-such-task' });
        info('error none');
      } catch (e) {
        info(`error ${e.payload ?? e}`);
      }
      break;
    case 'call:instance':
      eventsInThisInstance += 1;
      info(`instance events ${eventsInThisInstance}`);
      break;
    case 'call:fail':
      throw 'asked to fail';
  }
}

export const handler = {
  onTaskCreated(task) {
    info(`task-created ${describe(task)}`);
    act(task);
  },
  onTaskModified(old, updated) {
    info(`task-modified ${describe(old)} -> ${describe(updated)}`);
  },
  onTaskDeleted(task) {
    info(`task-deleted ${describe(task)}`);
  },
};
