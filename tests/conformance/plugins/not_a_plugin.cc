// A shared library that is not a plugin: it exports neither entry point.
extern "C" int chakong_test_not_a_plugin() { return 1; }
