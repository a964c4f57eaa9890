//go:build !robusta_testhooks

package repos

import "testing"

// Without the robusta_testhooks tag the environment cannot cut a push.
func TestNoTestHooksInProductBuild(t *testing.T) {
	t.Setenv("ROBUSTA_TEST_PUSH_CUT_AFTER", "100")
	if n := testCutAfter(); n != 0 {
		t.Fatalf("testCutAfter() = %d in a build without robusta_testhooks", n)
	}
}
