// Result and Problem: the one error style, as callers use it.
#include <memory>
#include <string>

#include "cmocka.hpp"
#include "verif8/Result.hpp"

using verif8::Problem;
using verif8::Result;

static Result<int> half(int n) {
    if (n % 2 != 0)
        return Problem(std::to_string(n) + " is odd");
    return n / 2;
}

// A value is ok and readable; a problem is not ok and says why; Result<> has no value.
static void a_result_holds_a_value_or_a_problem(void**) {
    const auto even = half(8), odd = half(7);
    assert_true(even.ok() && static_cast<bool>(even));
    assert_int_equal(even.value(), 4);
    assert_false(odd.ok() || static_cast<bool>(odd));
    assert_string_equal(odd.problem().text.c_str(), "7 is odd");
    const Result<> done = verif8::succeeded(), failed = Problem("no");
    assert_true(done.ok());
    assert_false(failed.ok());
    assert_string_equal(failed.problem().text.c_str(), "no");
}

static void a_move_only_value_can_be_taken(void**) {
    Result<std::unique_ptr<int>> result = std::make_unique<int>(3);
    assert_true(result.ok());
    const std::unique_ptr<int> taken = std::move(result).value();
    assert_non_null(taken.get());
    assert_int_equal(*taken, 3);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_result_holds_a_value_or_a_problem),
        cmocka_unit_test(a_move_only_value_can_be_taken),
    };
    return cmocka_run_group_tests_name("result", tests, nullptr, nullptr);
}
