package searchattr

import (
	"testing"

	"go.temporal.io/api/enums/v1"
)

func TestSameAndParseAgreeWithTheCLISpelling(t *testing.T) {
	for spelling, typ := range map[string]enums.IndexedValueType{
		"Keyword":     enums.INDEXED_VALUE_TYPE_KEYWORD,
		"keywordlist": enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		"KeywordList": enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		"Int":         enums.INDEXED_VALUE_TYPE_INT,
		"Bool":        enums.INDEXED_VALUE_TYPE_BOOL,
		"Datetime":    enums.INDEXED_VALUE_TYPE_DATETIME,
	} {
		if !Same(typ, spelling) {
			t.Errorf("Same(%s, %q) = false", typ, spelling)
		}
		if got := Parse(spelling); got != typ {
			t.Errorf("Parse(%q) = %s, want %s", spelling, got, typ)
		}
	}
	if Same(enums.INDEXED_VALUE_TYPE_KEYWORD, "KeywordList") || Same(enums.INDEXED_VALUE_TYPE_KEYWORD_LIST, "Keyword") {
		t.Error("Keyword and KeywordList must differ")
	}
	if got := Parse("Unspecified"); got != enums.INDEXED_VALUE_TYPE_UNSPECIFIED {
		t.Errorf("Parse(Unspecified) = %s", got)
	}
	if got := Parse("Float"); got != enums.INDEXED_VALUE_TYPE_UNSPECIFIED {
		t.Errorf("Parse(Float) = %s, want unspecified (the server says Double)", got)
	}
}
