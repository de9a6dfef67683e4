// Forced ahead of Warp's headers (clang -include) in the CPU validation build of executed kernels:
// Warp's release mode defines NDEBUG, which compiles its array index asserts out; undefining it
// here keeps them live without debug mode's full debug info (which costs Clang ~25% more time).
#undef NDEBUG
