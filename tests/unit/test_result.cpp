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

static void a_value_is_ok_and_readable(void**) {
    const auto result = half(8);
    assert_true(result.ok());
    assert_true(static_cast<bool>(result));
    assert_int_equal(result.value(), 4);
}

static void a_problem_is_not_ok_and_says_why(void**) {
    const auto result = half(7);
    assert_false(result.ok());
    assert_false(static_cast<bool>(result));
    assert_string_equal(result.problem().text.c_str(), "7 is odd");
}

static void nothing_to_return_uses_succeeded(void**) {
    const Result<> done = verif8::succeeded();
    assert_true(done.ok());
    const Result<> failed = Problem("no");
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
        cmocka_unit_test(a_value_is_ok_and_readable),
        cmocka_unit_test(a_problem_is_not_ok_and_says_why),
        cmocka_unit_test(nothing_to_return_uses_succeeded),
        cmocka_unit_test(a_move_only_value_can_be_taken),
    };
    return cmocka_run_group_tests_name("result", tests, nullptr, nullptr);
}
