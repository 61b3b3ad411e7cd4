package sniff

import "testing"

func verdict(name, content string, codeExt []string, split int) string {
	s := New(name, codeExt)
	b := []byte(content)
	for len(b) > 0 {
		n := min(split, len(b))
		s.Write(b[:n])
		b = b[n:]
	}
	return s.Verdict()
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		name, content string
		code          []string
		suspect       bool
	}{
		{"logo.png", "\x89PNG\r\n\x1a\n<?php eval($_POST[1]);", nil, true},
		{"logo.png", "\x89PNG\r\n\x1a\nIHDR....", nil, false},
		{"logo.png", "GIF89a....", nil, true},
		{"x.jpg", "\xff\xd8\xff\xe0JFIF", nil, false},
		{"x.svg", "<svg><SCRIPT>fetch('//e')</script></svg>", nil, true},
		{"x.php", "<?php echo 1;", []string{"php"}, false},
		{"x.php", "<?php echo 1;", nil, true},
		{"README.md", "use <?php code", []string{"md"}, false},
		{"a.gif", "GIF89a <?= $x ?>", nil, true},
		{"a.gif", "GIF89a<?=\xff", nil, false},
		{"clip.mp4", "\x00\x00\x00\x18ftypmp42", nil, false},
		{"clip.mp4", "<html>", nil, true},
		{"data.bin", "", nil, false},
	} {
		for _, split := range []int{1, 3, 1 << 20} {
			if got := verdict(c.name, c.content, c.code, split); (got != "") != c.suspect {
				t.Errorf("%s %q (writes of %d): %q", c.name, c.content, split, got)
			}
		}
	}
	if Hidden("/shop/pub/media/.x/a.png", []string{"/shop/pub/media"}) != ".x" || Hidden("/home/.u/shop/pub/media/a.png", []string{"/home/.u/shop/pub/media"}) != "" {
		t.Error("hidden")
	}
}
