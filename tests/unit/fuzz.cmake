# libFuzzer targets, off by default: configure a separate build directory with
#   -DBROKERGW_FUZZ=ON
# Coverage instrumentation cannot go into the shared static libraries (every other executable
# would then need the sanitizer runtime to link), so each fuzz target compiles its own
# instrumented copy of the sources it fuzzes, taken from the library targets.
option(BROKERGW_FUZZ "Build libFuzzer targets (clang -fsanitize=fuzzer)" OFF)

if(BROKERGW_FUZZ)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer)
  check_cxx_source_compiles([[
    #include <cstddef>
    #include <cstdint>
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
  ]] BROKERGW_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)

  if(NOT BROKERGW_HAVE_LIBFUZZER)
    message(WARNING "BROKERGW_FUZZ is ON but ${CMAKE_CXX_COMPILER} cannot link -fsanitize=fuzzer; "
                    "no fuzz targets are built")
  else()
    # Without a sanitizer build, fuzz with ASan and UBSan; otherwise reuse the global ones.
    if(BROKERGW_SANITIZE)
      set(brokergw_fuzz_flags -fsanitize=fuzzer)
    else()
      set(brokergw_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
                              -fno-sanitize-recover=all)
    endif()

    # Absolute source paths of library targets, to compile instrumented copies.
    function(brokergw_target_sources out)
      set(result "")
      foreach(target IN LISTS ARGN)
        get_target_property(dir ${target} SOURCE_DIR)
        get_target_property(sources ${target} SOURCES)
        foreach(source IN LISTS sources)
          if(NOT IS_ABSOLUTE ${source})
            set(source ${dir}/${source})
          endif()
          list(APPEND result ${source})
        endforeach()
      endforeach()
      set(${out} ${result} PARENT_SCOPE)
    endfunction()

    brokergw_target_sources(fuzz_request_json_sources brokergw_intake_json brokergw_core)
    add_executable(fuzz_request_json ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_request_json.cpp
                                     ${fuzz_request_json_sources})
    target_link_libraries(fuzz_request_json PRIVATE nlohmann_json::nlohmann_json)
    target_compile_options(fuzz_request_json PRIVATE ${brokergw_fuzz_flags})
    target_link_options(fuzz_request_json PRIVATE ${brokergw_fuzz_flags})

    # A short smoke run under ctest; new inputs go to a scratch corpus in the build tree.
    set(fuzz_scratch ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/request_json)
    file(MAKE_DIRECTORY ${fuzz_scratch})
    add_test(NAME fuzz_request_json_smoke
             COMMAND fuzz_request_json -max_total_time=20 -seed=1
                     -dict=${PROJECT_SOURCE_DIR}/tests/fuzz/request_json.dict
                     ${fuzz_scratch} ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/request_json)
    set_tests_properties(fuzz_request_json_smoke PROPERTIES TIMEOUT 120)
  endif()
endif()
