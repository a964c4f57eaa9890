//go:build robusta_testhooks

package repos

import "testing"

func TestCutAfterHook(t *testing.T) {
	t.Setenv("ROBUSTA_TEST_PUSH_CUT_AFTER", "100")
	if n := testCutAfter(); n != 100 {
		t.Fatalf("testCutAfter() = %d", n)
	}
}
