# Where installed Proteus programs find their libraries: libproteus_rt in the
# prefix's library folder beside bin/ ($ORIGIN, so a prefix can be moved), and
# libraries linked from outside the build (libMLIR.so of LLVM 22) where they
# were linked from. Included by the top level (for the compiler tools) and by
# the runtime's own project (for proteus-run when the runtime is built alone);
# setting CMAKE_INSTALL_RPATH also keeps LLVM's llvm_setup_rpath from choosing
# its own.
include(GNUInstallDirs)
set(CMAKE_INSTALL_RPATH "\$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
