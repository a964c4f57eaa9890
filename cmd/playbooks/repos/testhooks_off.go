//go:build !robusta_testhooks

package repos

// testCutAfter: the product binary has no test hooks (see testhooks.go).
func testCutAfter() int64 { return 0 }
