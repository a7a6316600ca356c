// A task-events@2 plugin built with componentize-js's defaults: it logs the
// title of every created task with console.log.
export const handler = {
  init(config) {},
  onEvent(event) {
    if (event.tag === 'task-created') {
      console.log(`js-hello: task created: ${event.val.title}`);
    }
  },
  runCommand(name, args) {
    return 'ok';
  },
};
