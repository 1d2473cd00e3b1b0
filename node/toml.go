package node

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds a small TOML reader used to load config/config.toml.
//
// CometBFT itself reads its config through spf13/viper, which is not part of
// this module's dependency graph (and go.mod may not be changed), so the node
// package carries its own reader. It implements the TOML subset that
// CometBFT's config template and hand edits by an operator use: comments,
// [tables], [[arrays of tables]], dotted and quoted keys, basic / literal /
// multi-line strings, integers (decimal, 0x, 0o, 0b, with '_'), floats,
// booleans, offset date-times, arrays and inline tables.
//
// decodeTOML then maps the parsed tree onto a struct using the same
// `mapstructure` tags viper uses, with viper's weak typing (a quoted "4" may
// fill an int, "a,b" fills a []string, "100ms" fills a time.Duration).

// parseTOML parses a TOML document into nested map[string]any values.
// Values are string, int64, float64, bool, time.Time, []any and
// map[string]any.
func parseTOML(src string) (map[string]any, error) {
	p := &tomlParser{src: src, line: 1}
	root := map[string]any{}
	if err := p.document(root); err != nil {
		return nil, err
	}
	return root, nil
}

type tomlParser struct {
	src  string
	pos  int
	line int
	// explicit records tables created by a [header], to reject duplicates.
	explicit map[uintptr]bool
}

func (p *tomlParser) errf(format string, args ...any) error {
	return fmt.Errorf("toml: line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *tomlParser) eof() bool { return p.pos >= len(p.src) }

func (p *tomlParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *tomlParser) hasPrefix(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

// skipSpace skips spaces and tabs.
func (p *tomlParser) skipSpace() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// skipComment skips a comment up to (not including) the end of the line.
func (p *tomlParser) skipComment() {
	if p.peek() != '#' {
		return
	}
	for !p.eof() && p.src[p.pos] != '\n' {
		p.pos++
	}
}

// newline consumes one line ending; it reports whether there was one.
func (p *tomlParser) newline() bool {
	if p.hasPrefix("\r\n") {
		p.pos += 2
		p.line++
		return true
	}
	if p.peek() == '\n' {
		p.pos++
		p.line++
		return true
	}
	return false
}

// skipBlank skips whitespace, comments and newlines.
func (p *tomlParser) skipBlank() {
	for {
		p.skipSpace()
		p.skipComment()
		if !p.newline() {
			return
		}
	}
}

// endOfLine requires that only whitespace / a comment remain on the line.
func (p *tomlParser) endOfLine() error {
	p.skipSpace()
	p.skipComment()
	if p.eof() || p.newline() {
		return nil
	}
	return p.errf("unexpected %q after value", p.peek())
}

func (p *tomlParser) document(root map[string]any) error {
	p.explicit = map[uintptr]bool{}
	current := root
	for {
		p.skipBlank()
		if p.eof() {
			return nil
		}
		switch {
		case p.hasPrefix("[["):
			p.pos += 2
			keys, err := p.keyPath("]]")
			if err != nil {
				return err
			}
			t, err := p.appendArrayTable(root, keys)
			if err != nil {
				return err
			}
			current = t
		case p.peek() == '[':
			p.pos++
			keys, err := p.keyPath("]")
			if err != nil {
				return err
			}
			t, err := p.defineTable(root, keys)
			if err != nil {
				return err
			}
			current = t
		default:
			if err := p.keyValue(current); err != nil {
				return err
			}
		}
		if err := p.endOfLine(); err != nil {
			return err
		}
	}
}

// keyPath parses a (dotted) key followed by the closing string of a header.
func (p *tomlParser) keyPath(closing string) ([]string, error) {
	p.skipSpace()
	keys, err := p.dottedKey()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.hasPrefix(closing) {
		return nil, p.errf("expected %q to close table header", closing)
	}
	p.pos += len(closing)
	return keys, nil
}

func (p *tomlParser) dottedKey() ([]string, error) {
	var keys []string
	for {
		p.skipSpace()
		k, err := p.simpleKey()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		p.skipSpace()
		if p.peek() != '.' {
			return keys, nil
		}
		p.pos++
	}
}

func (p *tomlParser) simpleKey() (string, error) {
	switch p.peek() {
	case '"':
		if p.hasPrefix(`"""`) {
			return "", p.errf("multi-line string not allowed as key")
		}
		return p.basicString()
	case '\'':
		if p.hasPrefix("'''") {
			return "", p.errf("multi-line string not allowed as key")
		}
		return p.literalString()
	}
	start := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		if p.eof() {
			return "", p.errf("expected key, got end of file")
		}
		return "", p.errf("expected key, got %q", p.peek())
	}
	return p.src[start:p.pos], nil
}

// descend walks (creating as needed) the tables named by keys, starting at t.
// When an element is an array of tables, the last table of the array is used.
func (p *tomlParser) descend(t map[string]any, keys []string) (map[string]any, error) {
	for _, k := range keys {
		switch v := t[k].(type) {
		case nil:
			n := map[string]any{}
			t[k] = n
			t = n
		case map[string]any:
			t = v
		case []any:
			if len(v) == 0 {
				return nil, p.errf("key %q is an array, not a table", k)
			}
			last, ok := v[len(v)-1].(map[string]any)
			if !ok {
				return nil, p.errf("key %q is an array, not a table", k)
			}
			t = last
		default:
			return nil, p.errf("key %q is already a value, not a table", k)
		}
	}
	return t, nil
}

func (p *tomlParser) defineTable(root map[string]any, keys []string) (map[string]any, error) {
	parent, err := p.descend(root, keys[:len(keys)-1])
	if err != nil {
		return nil, err
	}
	last := keys[len(keys)-1]
	switch v := parent[last].(type) {
	case nil:
		t := map[string]any{}
		parent[last] = t
		p.explicit[reflect.ValueOf(t).Pointer()] = true
		return t, nil
	case map[string]any:
		id := reflect.ValueOf(v).Pointer()
		if p.explicit[id] {
			return nil, p.errf("table [%s] defined twice", strings.Join(keys, "."))
		}
		p.explicit[id] = true
		return v, nil
	default:
		return nil, p.errf("key %q is already defined as a non-table", strings.Join(keys, "."))
	}
}

func (p *tomlParser) appendArrayTable(root map[string]any, keys []string) (map[string]any, error) {
	parent, err := p.descend(root, keys[:len(keys)-1])
	if err != nil {
		return nil, err
	}
	last := keys[len(keys)-1]
	t := map[string]any{}
	switch v := parent[last].(type) {
	case nil:
		parent[last] = []any{t}
	case []any:
		parent[last] = append(v, t)
	default:
		return nil, p.errf("key %q is already defined as a non-array", strings.Join(keys, "."))
	}
	return t, nil
}

func (p *tomlParser) keyValue(t map[string]any) error {
	keys, err := p.dottedKey()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.peek() != '=' {
		return p.errf("expected '=' after key %q", strings.Join(keys, "."))
	}
	p.pos++
	p.skipSpace()
	val, err := p.value()
	if err != nil {
		return err
	}
	parent, err := p.descend(t, keys[:len(keys)-1])
	if err != nil {
		return err
	}
	last := keys[len(keys)-1]
	if _, dup := parent[last]; dup {
		return p.errf("key %q defined twice", strings.Join(keys, "."))
	}
	parent[last] = val
	return nil
}

func (p *tomlParser) value() (any, error) {
	if p.eof() {
		return nil, p.errf("expected value, got end of file")
	}
	switch c := p.peek(); {
	case p.hasPrefix(`"""`):
		return p.multiLineBasicString()
	case c == '"':
		return p.basicString()
	case p.hasPrefix("'''"):
		return p.multiLineLiteralString()
	case c == '\'':
		return p.literalString()
	case c == '[':
		return p.array()
	case c == '{':
		return p.inlineTable()
	case p.hasPrefix("true") && p.tokenEndsAt(p.pos+4):
		p.pos += 4
		return true, nil
	case p.hasPrefix("false") && p.tokenEndsAt(p.pos+5):
		p.pos += 5
		return false, nil
	default:
		return p.scalar()
	}
}

func (p *tomlParser) tokenEndsAt(i int) bool {
	if i >= len(p.src) {
		return true
	}
	switch p.src[i] {
	case ' ', '\t', '\r', '\n', ',', ']', '}', '#':
		return true
	}
	return false
}

// scalar parses numbers and date-times.
func (p *tomlParser) scalar() (any, error) {
	start := p.pos
	for !p.eof() && !p.tokenEndsAt(p.pos) {
		p.pos++
	}
	tok := p.src[start:p.pos]
	// A date and a time may be separated by a single space.
	if len(tok) == 10 && tok[4] == '-' && tok[7] == '-' && p.peek() == ' ' && p.pos+1 < len(p.src) &&
		p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9' {
		p.pos++
		for !p.eof() && !p.tokenEndsAt(p.pos) {
			p.pos++
		}
		tok = strings.Replace(p.src[start:p.pos], " ", "T", 1)
	}
	if tok == "" {
		return nil, p.errf("expected value, got %q", p.peek())
	}
	clean := strings.ReplaceAll(tok, "_", "")
	sign := ""
	digits := clean
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		sign, digits = digits[:1], digits[1:]
	}
	if len(digits) > 2 && digits[0] == '0' && strings.ContainsRune("xob", rune(digits[1])) {
		if n, err := strconv.ParseInt(sign+digits, 0, 64); err == nil {
			return n, nil
		}
		return nil, p.errf("invalid integer %q", tok)
	}
	if n, err := strconv.ParseInt(clean, 10, 64); err == nil {
		if len(digits) > 1 && digits[0] == '0' {
			return nil, p.errf("leading zeros are not allowed in %q", tok)
		}
		return n, nil
	}
	switch digits {
	case "inf":
		if sign == "-" {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	if strings.ContainsAny(digits, ".eE") && digits != "" && digits[0] >= '0' && digits[0] <= '9' {
		if f, err := strconv.ParseFloat(clean, 64); err == nil {
			return f, nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02", "15:04:05.999999999"} {
		if t, err := time.Parse(layout, tok); err == nil {
			return t, nil
		}
	}
	return nil, p.errf("invalid value %q (strings must be quoted)", tok)
}

func (p *tomlParser) array() ([]any, error) {
	p.pos++ // '['
	out := []any{}
	for {
		p.skipBlank()
		if p.eof() {
			return nil, p.errf("unterminated array")
		}
		if p.peek() == ']' {
			p.pos++
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return out, nil
		default:
			if p.eof() {
				return nil, p.errf("unterminated array")
			}
			return nil, p.errf("expected ',' or ']' in array, got %q", p.peek())
		}
	}
}

func (p *tomlParser) inlineTable() (map[string]any, error) {
	p.pos++ // '{'
	out := map[string]any{}
	for {
		p.skipBlank()
		if p.eof() {
			return nil, p.errf("unterminated inline table")
		}
		if p.peek() == '}' {
			p.pos++
			return out, nil
		}
		if err := p.keyValue(out); err != nil {
			return nil, err
		}
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return out, nil
		default:
			if p.eof() {
				return nil, p.errf("unterminated inline table")
			}
			return nil, p.errf("expected ',' or '}' in inline table, got %q", p.peek())
		}
	}
}

func (p *tomlParser) literalString() (string, error) {
	p.pos++ // '
	start := p.pos
	for !p.eof() {
		switch p.src[p.pos] {
		case '\'':
			s := p.src[start:p.pos]
			p.pos++
			return s, nil
		case '\n':
			return "", p.errf("newline in literal string")
		}
		p.pos++
	}
	return "", p.errf("unterminated literal string")
}

func (p *tomlParser) multiLineLiteralString() (string, error) {
	p.pos += 3
	p.newline() // a newline right after the opening quotes is trimmed
	start := p.pos
	end := strings.Index(p.src[p.pos:], "'''")
	if end < 0 {
		return "", p.errf("unterminated multi-line literal string")
	}
	end += p.pos
	// Up to two quotes may directly precede the closing delimiter.
	for extra := 0; extra < 2 && end+3 < len(p.src) && p.src[end+3] == '\''; extra++ {
		end++
	}
	s := p.src[start:end]
	p.line += strings.Count(s, "\n")
	p.pos = end + 3
	return s, nil
}

func (p *tomlParser) basicString() (string, error) {
	p.pos++ // "
	var b strings.Builder
	for !p.eof() {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\n':
			return "", p.errf("newline in string")
		case '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errf("unterminated string")
}

func (p *tomlParser) multiLineBasicString() (string, error) {
	p.pos += 3
	p.newline()
	var b strings.Builder
	for !p.eof() {
		if p.hasPrefix(`"""`) {
			// Up to two quotes may directly precede the closing delimiter.
			extra := 0
			for extra < 2 && p.pos+3+extra < len(p.src) && p.src[p.pos+3+extra] == '"' {
				extra++
			}
			b.WriteString(strings.Repeat(`"`, extra))
			p.pos += 3 + extra
			return b.String(), nil
		}
		c := p.src[p.pos]
		switch {
		case c == '\\':
			// A line-ending backslash trims the newline and following whitespace.
			q := p.pos + 1
			for q < len(p.src) && (p.src[q] == ' ' || p.src[q] == '\t') {
				q++
			}
			if q < len(p.src) && (p.src[q] == '\n' || strings.HasPrefix(p.src[q:], "\r\n")) {
				p.pos = q
				for !p.eof() {
					p.skipSpace()
					if !p.newline() {
						break
					}
				}
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c == '\n':
			b.WriteByte(c)
			p.pos++
			p.line++
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errf("unterminated multi-line string")
}

// escape decodes one escape sequence starting at the backslash. Besides the
// TOML escapes it accepts \' and \/ because CometBFT renders some paths with
// Go's JavaScript escaper.
func (p *tomlParser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.src) {
		return p.errf("unterminated escape sequence")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case 'e':
		b.WriteByte(0x1b)
	case '"', '\\', '\'', '/':
		b.WriteByte(c)
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.pos+n > len(p.src) {
			return p.errf("short unicode escape")
		}
		r, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return p.errf("invalid unicode escape %q", p.src[p.pos-2:p.pos+n])
		}
		b.WriteRune(rune(r))
		p.pos += n
	default:
		return p.errf("invalid escape sequence \\%c", c)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Decoding into structs.

var durationType = reflect.TypeOf(time.Duration(0))

// decodeTOML copies the values of tree into out (a pointer to a struct),
// matching keys against `mapstructure` tags case-insensitively. Fields whose
// key is absent keep their current value, so out can be pre-filled with
// defaults. Unknown keys are ignored, like viper does.
func decodeTOML(tree map[string]any, out any) error {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return errors.New("decodeTOML: out must be a non-nil pointer")
	}
	return decodeValue(v.Elem(), tree, "")
}

func decodeValue(v reflect.Value, data any, path string) error {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decodeValue(v.Elem(), data, path)
	}
	if v.Type() == durationType {
		switch d := data.(type) {
		case string:
			dur, err := time.ParseDuration(strings.TrimSpace(d))
			if err != nil {
				return fmt.Errorf("%s: invalid duration %q: %w", path, d, err)
			}
			v.SetInt(int64(dur))
			return nil
		case int64:
			v.SetInt(d) // nanoseconds, as mapstructure does
			return nil
		default:
			return fmt.Errorf("%s: expected a duration string like \"100ms\", got %T", path, data)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a table, got %T", path, data)
		}
		return decodeStruct(v, m, path)
	case reflect.Slice:
		return decodeSlice(v, data, path)
	case reflect.String:
		switch d := data.(type) {
		case string:
			v.SetString(d)
		case int64, float64, bool:
			v.SetString(fmt.Sprint(d))
		default:
			return fmt.Errorf("%s: expected a string, got %T", path, data)
		}
	case reflect.Bool:
		switch d := data.(type) {
		case bool:
			v.SetBool(d)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(d))
			if err != nil {
				return fmt.Errorf("%s: invalid boolean %q", path, d)
			}
			v.SetBool(b)
		case int64:
			v.SetBool(d != 0)
		default:
			return fmt.Errorf("%s: expected a boolean, got %T", path, data)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := toInt64(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if v.OverflowInt(n) {
			return fmt.Errorf("%s: %d overflows %s", path, n, v.Type())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := toInt64(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if n < 0 || v.OverflowUint(uint64(n)) {
			return fmt.Errorf("%s: %d out of range for %s", path, n, v.Type())
		}
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch d := data.(type) {
		case float64:
			v.SetFloat(d)
		case int64:
			v.SetFloat(float64(d))
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
			if err != nil {
				return fmt.Errorf("%s: invalid number %q", path, d)
			}
			v.SetFloat(f)
		default:
			return fmt.Errorf("%s: expected a number, got %T", path, data)
		}
	case reflect.Interface:
		if data != nil && reflect.TypeOf(data).AssignableTo(v.Type()) {
			v.Set(reflect.ValueOf(data))
			return nil
		}
		return fmt.Errorf("%s: cannot assign %T to %s", path, data, v.Type())
	default:
		return fmt.Errorf("%s: unsupported field type %s", path, v.Type())
	}
	return nil
}

func toInt64(data any) (int64, error) {
	switch d := data.(type) {
	case int64:
		return d, nil
	case float64:
		if d != float64(int64(d)) {
			return 0, fmt.Errorf("expected an integer, got %v", d)
		}
		return int64(d), nil
	case string:
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(d), "_", ""), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid integer %q", d)
		}
		return n, nil
	case bool:
		if d {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("expected an integer, got %T", data)
	}
}

func decodeSlice(v reflect.Value, data any, path string) error {
	var items []any
	switch d := data.(type) {
	case []any:
		items = d
	case string:
		// viper's StringToSliceHookFunc(","): "a,b" -> ["a","b"], "" -> [].
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("%s: expected an array, got a string", path)
		}
		if strings.TrimSpace(d) != "" {
			for _, s := range strings.Split(d, ",") {
				items = append(items, strings.TrimSpace(s))
			}
		}
	default:
		return fmt.Errorf("%s: expected an array, got %T", path, data)
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		if err := decodeValue(out.Index(i), item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func decodeStruct(v reflect.Value, m map[string]any, path string) error {
	lower := make(map[string]string, len(m))
	for k := range m {
		lower[strings.ToLower(k)] = k
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		if opts == "squash" || (f.Anonymous && name == "") {
			if err := decodeValue(v.Field(i), m, path); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		key, ok := lower[strings.ToLower(name)]
		if !ok {
			continue
		}
		sub := name
		if path != "" {
			sub = path + "." + name
		}
		if err := decodeValue(v.Field(i), m[key], sub); err != nil {
			return err
		}
	}
	return nil
}
