// Preload (node -r) that makes the native TensorFlow packages fail to load, as on a machine
// where the binding was never built: used to test the backend fallback for real.
const Module = require('node:module');
const original = Module._load;
Module._load = function (request, ...rest) {
  if (request === '@tensorflow/tfjs-node' || request === '@tensorflow/tfjs-node-gpu') {
    throw new Error(`Cannot find module '${request}' (blocked by test)`);
  }
  return original.call(this, request, ...rest);
};
