// Helpers for plugboard plugins in JavaScript: the parts of the generated
// bindings that are awkward to write by hand.
//
// - newTask, taskPatch and taskFilter build the records with every field
//   defaulted, so a plugin names only what it sets. In taskPatch, `project`
//   and `due` take a value to set, `null` to remove, and are left alone when
//   not given (the WIT's option<option<T>>).
// - reported wraps a handler function: an exception that is not a plugboard
//   error ({ tag: 'invalid', val: '...' } and the like) is written to the
//   plugin's log with its stack and becomes an `invalid` error of the call,
//   instead of a trap.
// - debug, info, warn and error write one line to the plugin's log
//   (console.log does too, at info level).
import { log } from 'plugboard:task-events/log@2.2.0';

const ERROR_TAGS = ['denied', 'not-found', 'invalid', 'quota-exceeded', 'conflict'];

export function newTask(title, fields = {}) {
  return {
    title,
    description: '',
    project: undefined,
    tags: [],
    priority: 'none',
    due: undefined,
    attributes: [],
    ...fields,
  };
}

export function taskPatch(fields = {}) {
  const { project, due, ...rest } = fields;
  // option<option<T>> is { tag: 'none' } or { tag: 'some', val: T | undefined }.
  const nested = (name) => (name in fields ? { tag: 'some', val: fields[name] ?? undefined } : { tag: 'none' });
  return {
    title: undefined,
    description: undefined,
    status: undefined,
    priority: undefined,
    addTags: [],
    removeTags: [],
    addAnnotations: [],
    setAttributes: [],
    removeAttributes: [],
    expectedModified: undefined,
    ...rest,
    project: nested('project'),
    due: nested('due'),
  };
}

export function taskFilter(fields = {}) {
  return { status: undefined, project: undefined, tags: [], text: undefined, limit: undefined, ...fields };
}

export const debug = (message) => log('debug', message);
export const info = (message) => log('info', message);
export const warn = (message) => log('warn', message);
export const error = (message) => log('error', message);

export function reported(handler) {
  return (...args) => {
    try {
      return handler(...args);
    } catch (thrown) {
      if (thrown && ERROR_TAGS.includes(thrown.tag)) {
        throw thrown;
      }
      const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
      error(thrown instanceof Error && thrown.stack ? `${text}\n${thrown.stack}` : text);
      throw { tag: 'invalid', val: text };
    }
  };
}
