// The conformance scenario (wit/CONFORMANCE.md) in JavaScript for
// task-events@2.2, built with componentize-js against the world's WIT. It
// logs what it receives, one line per observation, and performs the host
// call the title of the task it is told about names; it uses the generated
// bindings only, so it tests the ABI as JavaScript sees it.
import { log } from 'plugboard:task-events/log@2.2.0';
import * as tasks from 'plugboard:task-events/tasks@2.2.0';
import * as state from 'plugboard:task-events/state@2.2.0';
import * as events from 'plugboard:task-events/events@2.2.0';
import * as config from 'plugboard:task-events/config@2.2.0';
import * as clock from 'plugboard:task-events/clock@2.2.0';
import * as commands from 'plugboard:task-events/commands@2.2.0';
import * as resources from 'plugboard:task-events/resources@2.2.0';
import * as locale from 'plugboard:task-events/locale@2.2.0';

// Events titled `call:instance` this instance handled.
let eventsInThisInstance = 0;

const info = (message) => log('info', message);

function describeError(error) {
  switch (error.tag) {
    case 'denied':
      return `denied(${error.val})`;
    case 'not-found':
      return `not-found(${error.val})`;
    case 'invalid':
      return `invalid(${error.val})`;
    default:
      return error.tag;
  }
}

function describeTask(t) {
  const attrs = t.attributes.map((a) => `${a.key}=${a.value}`).join(',');
  return (
    `title=${t.title} status=${t.status} priority=${t.priority} project=${t.project ?? '-'} ` +
    `tags=${t.tags.join(',')} due=${t.due ?? '-'} attrs=${attrs} annotations=${t.annotations.length}`
  );
}

const emptyPatch = () => ({
  title: undefined,
  description: undefined,
  status: undefined,
  // option<option<T>>: { tag: 'none' } or { tag: 'some', val: T | undefined }.
  project: { tag: 'none' },
  priority: undefined,
  due: { tag: 'none' },
  addTags: [],
  removeTags: [],
  addAnnotations: [],
  setAttributes: [],
  removeAttributes: [],
  expectedModified: undefined,
});

const matchAll = () => ({ status: undefined, project: undefined, tags: [], text: undefined, limit: undefined });

const newTask = (title) => ({
  title,
  description: '',
  project: undefined,
  tags: [],
  priority: 'none',
  due: undefined,
  attributes: [],
});

// The error a host call that must fail throws.
function failure(call) {
  try {
    call();
  } catch (e) {
    return e.payload ?? e;
  }
  throw new Error('the call succeeded');
}

function act(task) {
  switch (task.title) {
    case 'call:get': {
      const found = tasks.get(task.id);
      info(`get ${found === undefined ? 'none' : found.title}`);
      const missing = tasks.get('00000000-0000-0000-0000-000000000000');
      info(`get-missing ${missing === undefined ? 'none' : 'some'}`);
      break;
    }
    case 'call:query': {
      const filter = { ...matchAll(), tags: ['q'] };
      info(`query ${tasks.query(filter).map((t) => t.title).join('|')}`);
      info(`query-limited ${tasks.query({ ...filter, limit: 1 }).length}`);
      break;
    }
    case 'call:create': {
      const made = tasks.create({ ...newTask('made by plugin'), tags: ['generated'], priority: 'low' });
      info(`created ${made.id.length} ${describeTask(made)}`);
      break;
    }
    case 'call:update': {
      const patch = {
        ...emptyPatch(),
        addTags: ['updated'],
        priority: 'high',
        project: { tag: 'some', val: 'conformance' },
        addAnnotations: ['touched'],
        expectedModified: task.modified,
      };
      info(`updated ${describeTask(tasks.update(task.id, patch))}`);
      break;
    }
    case 'call:delete':
      tasks.delete(task.id);
      info('deleted');
      break;
    case 'call:count':
      info(`count ${tasks.count(matchAll())}`);
      break;
    case 'call:state': {
      state.set('colour', new TextEncoder().encode('blue'));
      const got = state.get('colour');
      info(`state-get ${new TextDecoder().decode(got ?? new Uint8Array())}`);
      info(`state-keys ${state.listKeys().join(',')}`);
      state.delete('colour');
      info(`state-after-delete ${state.get('colour') === undefined ? 'none' : 'some'}`);
      break;
    }
    case 'call:emit':
      events.emit('conformance.ping', new TextEncoder().encode('ping'));
      info('emitted');
      break;
    case 'call:log':
      for (const level of ['trace', 'debug', 'info', 'warn', 'error']) {
        log(level, `level ${level}`);
      }
      break;
    case 'call:clock':
      info(`now ${clock.now()}`);
      break;
    case 'call:config':
      info(`config greeting=${config.get('greeting') ?? ''} missing=${config.get('missing') ?? 'none'}`);
      break;
    case 'call:errors': {
      info(`error ${describeError(failure(() => events.emit('not-declared', new Uint8Array())))}`);
      info(`error ${describeError(failure(() => tasks.update('no-such-task', emptyPatch())))}`);
      info(`error ${describeError(failure(() => tasks.create(newTask(''))))}`);
      const stale = { ...emptyPatch(), title: 'never', expectedModified: task.modified - 1n };
      info(`error ${describeError(failure(() => tasks.update(task.id, stale)))}`);
      info(`error ${describeError(failure(() => state.set('big', new Uint8Array(2048))))}`);
      break;
    }
    case 'call:resources': {
      info(`resources ${resources.list().join(',')}`);
      const greeting = new TextDecoder().decode(resources.read('greeting.txt')).trim();
      info(`resource greeting.txt ${greeting}`);
      for (const escape of ['../plugin.toml', '/etc/passwd']) {
        info(`resource ${escape} ${describeError(failure(() => resources.read(escape)))}`);
      }
      break;
    }
    case 'call:translate': {
      const hello = locale.translate('hello', [['name', 'Ada']]);
      info(`translate ${locale.language()} | ${hello} | ${locale.translate('no.such.key', [])}`);
      break;
    }
    case 'call:invoke': {
      let answer;
      try {
        answer = commands.invoke('conformance-peer.echo', ['from', 'peer']);
      } catch (e) {
        // The handler fails with the call's error.
        throw e.payload ?? e;
      }
      info(`invoke ${answer}`);
      info(`invoke-denied ${describeError(failure(() => commands.invoke('conformance-peer.secret', [])))}`);
      break;
    }
    case 'call:instance':
      // Counts in the instance's memory: a host that re-instantiates the
      // plugin for every event logs 1 each time.
      eventsInThisInstance += 1;
      info(`instance events ${eventsInThisInstance}`);
      break;
    case 'call:fail':
      throw { tag: 'invalid', val: 'asked to fail' };
  }
}

export const handler = {
  init(settings) {
    info(`init ${settings.map(([k, v]) => `${k}=${v}`).join(',')}`);
  },

  onEvent(event) {
    switch (event.tag) {
      case 'task-created':
        info(`task-created ${describeTask(event.val)}`);
        act(event.val);
        break;
      case 'task-modified':
        info(`task-modified ${describeTask(event.val.before)} -> ${describeTask(event.val.after)}`);
        break;
      case 'task-deleted':
        info(`task-deleted ${describeTask(event.val)}`);
        break;
      case 'sync-completed': {
        const s = event.val;
        info(`sync-completed pulled=${s.pulled} pushed=${s.pushed} conflicts=${s.conflicts}`);
        break;
      }
      case 'timer':
        info(`timer ${event.val}`);
        break;
      case 'custom': {
        const c = event.val;
        info(`custom topic=${c.topic} source=${c.source} payload=${new TextDecoder().decode(c.payload)}`);
        break;
      }
    }
  },

  runCommand(name, args) {
    if (name === 'echo') {
      return args.join(' ');
    }
    if (name === 'resource') {
      // `resource PATH`: the text of one of its resources.
      return new TextDecoder().decode(resources.read(args[0] ?? '')).trim();
    }
    if (name === 'translate') {
      // `translate KEY [NAME]`: KEY in the user's language, `{name}` filled in.
      return locale.translate(args[0] ?? '', [['name', args[1] ?? '']]);
    }
    throw { tag: 'invalid', val: `unknown command ${name}` };
  },
};

export const lifecycle = {
  shutdown() {
    // What a plugin flushes at shutdown lands in its state.
    let flushed = true;
    try {
      state.set('flushed-at-shutdown', new TextEncoder().encode('yes'));
    } catch {
      flushed = false;
    }
    info(`shutdown flushed=${flushed}`);
  },

  health() {
    return `healthy, ${eventsInThisInstance} instance events`;
  },
};
