/*
 * os-helper.node: dup(2)/dup2(2)/close(2) and a global dlopen(3) for Node, which has none of them.
 * src/env/quiet-tf.ts points stderr at /dev/null while the TensorFlow binding loads and then back
 * at exactly the same open file (pipe, socket, terminal or file, offset shared), which reopening
 * cannot do; src/env/cuda-preload.ts loads CUDA libraries by path before TensorFlow looks for them
 * by name (the loader then matches their sonames), so no LD_LIBRARY_PATH is needed.
 * Built by scripts/build-native.sh into dist/native/os-helper.node. Plain Node-API (ABI-stable);
 * the few declarations it needs are written out here so that no Node headers are required.
 * This file must not do anything but these four calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* 0 = napi_ok */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
extern napi_status napi_get_value_int32(napi_env, napi_value, int *);
extern napi_status napi_create_int32(napi_env, int, napi_value *);
extern napi_status napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
extern napi_status napi_set_named_property(napi_env, napi_value, const char *, napi_value);
extern napi_status napi_throw_error(napi_env, const char *, const char *);
extern napi_status napi_get_value_string_utf8(napi_env, napi_value, char *, size_t, size_t *);
extern napi_status napi_get_boolean(napi_env, int, napi_value *);

/* Reads up to two int32 arguments; returns how many were numbers. */
static size_t int_args(napi_env env, napi_callback_info info, int *a, int *b) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0) return 0;
  size_t n = 0;
  if (argc > 0 && napi_get_value_int32(env, argv[0], a) == 0) n = 1;
  if (argc > 1 && n == 1 && napi_get_value_int32(env, argv[1], b) == 0) n = 2;
  return n;
}

static napi_value result(napi_env env, int r) {
  if (r < 0) {
    napi_throw_error(env, "EFDDUP", strerror(errno));
    return NULL;
  }
  napi_value v;
  napi_create_int32(env, r, &v);
  return v;
}

static napi_value Dup(napi_env env, napi_callback_info info) {
  int a = -1, b = -1;
  if (int_args(env, info, &a, &b) < 1) { napi_throw_error(env, "EINVAL", "dup(fd) needs a descriptor"); return NULL; }
  return result(env, dup(a));
}

static napi_value Dup2(napi_env env, napi_callback_info info) {
  int a = -1, b = -1;
  if (int_args(env, info, &a, &b) < 2) { napi_throw_error(env, "EINVAL", "dup2(from, to) needs two descriptors"); return NULL; }
  return result(env, dup2(a, b));
}

static napi_value Close(napi_env env, napi_callback_info info) {
  int a = -1, b = -1;
  if (int_args(env, info, &a, &b) < 1) { napi_throw_error(env, "EINVAL", "close(fd) needs a descriptor"); return NULL; }
  return result(env, close(a));
}

/* dlopen(path, RTLD_NOW | RTLD_GLOBAL), never closed; throws with dlerror() when it fails. */
static napi_value DlopenGlobal(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char file[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], file, sizeof file, &len) != 0 || len == 0 || len >= sizeof file - 1) {
    napi_throw_error(env, "EINVAL", "dlopenGlobal(path) needs a path");
    return NULL;
  }
  if (dlopen(file, RTLD_NOW | RTLD_GLOBAL) == NULL) {
    const char *e = dlerror();
    napi_throw_error(env, "EDLOPEN", e != NULL ? e : "dlopen failed");
    return NULL;
  }
  napi_value t;
  napi_get_boolean(env, 1, &t);
  return t;
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, (size_t)-1, cb, NULL, &fn) == 0) napi_set_named_property(env, exports, name, fn);
}

/* Node calls this when the addon is loaded (Node-API module without self-registration). */
__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  export_fn(env, exports, "dup", Dup);
  export_fn(env, exports, "dup2", Dup2);
  export_fn(env, exports, "close", Close);
  export_fn(env, exports, "dlopenGlobal", DlopenGlobal);
  return exports;
}
