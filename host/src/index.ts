/** @atp/host: the library behind `atp-host`. */
export * from './vm/connect.js';
export * from './vm/qmp/index.js';
export * from './vm/qga/index.js';
export * from './hub/index.js';
export * from './inject/index.js';
export * from './api/index.js';
export * from './vm/libvirt/index.js';
export * from './scenario/index.js';
export * from './report/index.js';
export * from './verify/index.js';
