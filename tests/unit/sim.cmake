# Unit tests for the simulator's pure part (sim/brokersim_core): decimals, rule matching, fill
# splitting, price steps, the engine's order book and the config and journal formats
# (unit_sim_rules), and the real-broker behaviours: ExecID styles, busts, corrections,
# restatements, stray reports, control commands (unit_sim_brokers); the FIX messages it builds
# (unit_sim_fix_messages, with QuickFIX).
include(GoogleTest)
foreach(name IN ITEMS rules brokers)
  add_executable(unit_sim_${name} ${PROJECT_SOURCE_DIR}/tests/unit/sim_${name}_test.cpp)
  target_link_libraries(unit_sim_${name} PRIVATE
    brokersim_core nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(unit_sim_${name} PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(unit_sim_${name} DISCOVERY_TIMEOUT 30)
endforeach()

# The QuickFIX messages the simulator builds (sim/brokersim_fix), checked on the serialized bytes.
add_executable(unit_sim_fix_messages ${PROJECT_SOURCE_DIR}/tests/unit/sim_fix_messages_test.cpp)
target_link_libraries(unit_sim_fix_messages PRIVATE brokersim_fix GTest::gtest_main)
gtest_discover_tests(unit_sim_fix_messages DISCOVERY_TIMEOUT 30)

# The example config must stay valid, and QuickFIX must load the dictionary it names.
add_test(NAME sim_example_config_and_dictionary_load
  COMMAND brokersim --config ${PROJECT_SOURCE_DIR}/sim/sim.example.toml --check-config)
set_tests_properties(sim_example_config_and_dictionary_load PROPERTIES TIMEOUT 30)
