//go:build robusta_testhooks

package repos

import (
	"os"
	"strconv"
)

// testCutAfter is the e2e tests' stand-in for a connection that breaks mid-push:
// ROBUSTA_TEST_PUSH_CUT_AFTER=N cuts the stream after N bytes. It exists only in
// binaries built with -tags robusta_testhooks (test/e2e builds its binary so).
func testCutAfter() int64 {
	n, _ := strconv.ParseInt(os.Getenv("ROBUSTA_TEST_PUSH_CUT_AFTER"), 10, 64)
	return n
}
