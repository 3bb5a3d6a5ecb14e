# Unit tests for the simulator's pure part (sim/brokersim_core): decimals, rule matching, fill
# splitting, price steps, the engine's order book and the config and journal formats.
include(GoogleTest)
add_executable(unit_sim_rules ${PROJECT_SOURCE_DIR}/tests/unit/sim_rules_test.cpp)
target_link_libraries(unit_sim_rules PRIVATE brokersim_core nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(unit_sim_rules PRIVATE
  BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(unit_sim_rules DISCOVERY_TIMEOUT 30)

# The example config must stay valid, and QuickFIX must load the dictionary it names.
add_test(NAME sim_example_config_and_dictionary_load
  COMMAND brokersim --config ${PROJECT_SOURCE_DIR}/sim/sim.example.toml --check-config)
set_tests_properties(sim_example_config_and_dictionary_load PROPERTIES TIMEOUT 30)
