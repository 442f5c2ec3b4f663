// Package searchattr compares search attribute types as the server reports them with the
// spelling the CLI and escrow.SearchAttributeTypes use, so the dev stack (which registers the
// attributes) and the worker (which refuses a namespace without them) agree on one rule.
package searchattr

import (
	"strings"

	"go.temporal.io/api/enums/v1"
)

// Same reports whether the server's type (INDEXED_VALUE_TYPE_KEYWORD_LIST) is the one spelled
// want in the CLI's way (KeywordList), case-insensitively.
func Same(got enums.IndexedValueType, want string) bool {
	return norm(got.String()) == norm(want)
}

// Parse turns the CLI's spelling ("Keyword", "Int") into the server's type, and to
// INDEXED_VALUE_TYPE_UNSPECIFIED when it names none.
func Parse(s string) enums.IndexedValueType {
	for v := range enums.IndexedValueType_name {
		if v != int32(enums.INDEXED_VALUE_TYPE_UNSPECIFIED) && Same(enums.IndexedValueType(v), s) {
			return enums.IndexedValueType(v)
		}
	}
	return enums.INDEXED_VALUE_TYPE_UNSPECIFIED
}

func norm(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(s, "INDEXED_VALUE_TYPE_"), "_", ""))
}
