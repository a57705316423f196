package report

import "github.com/charmbracelet/lipgloss"

// Colored styles text by level through paint: "pass" green, "warn"
// yellow, "fail" red, bold; other levels are left plain.
func Colored(paint Paint, base lipgloss.Style, level, text string) string {
	c, ok := map[string]string{"pass": "2", "warn": "3", "fail": "1"}[level]
	if !ok {
		return text
	}
	return paint(base.Foreground(lipgloss.Color(c)).Bold(true), text)
}
