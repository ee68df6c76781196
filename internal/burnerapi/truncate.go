/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package burnerapi

import (
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes bounds any message the operator writes to a condition, an event or a log line. An event note over
// 1 KiB is rejected by the apiserver and a condition message over the CRD's limit makes the whole status patch fail
// (losing the backoff it records), so text from anywhere is capped well below both.
const MaxMessageBytes = 256

// truncationMark ends a message that Truncate cut.
const truncationMark = "…"

// Truncate returns s if it fits in MaxMessageBytes, else its longest prefix that does (cut on a UTF-8 boundary)
// followed by "…". Invalid UTF-8 is replaced, so the result is always valid UTF-8.
func Truncate(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxMessageBytes {
		return s
	}
	cut := MaxMessageBytes - len(truncationMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncationMark
}
