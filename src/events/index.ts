export * from './state-dir.js';
export * from './rotation-event.js';
export * from './event-tally.js';
export * from './outbox-errors.js';
export * from './outbox-journal.js';
export * from './outbox.js';
export * from './journal-file.js';
export * from './event-sender.js';
