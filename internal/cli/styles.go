package cli

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles renders text for one stream. With colour off every method returns its input
// unchanged, so plain output never carries escape codes.
type Styles struct {
	enabled bool
	r       *lipgloss.Renderer
}

// StylesFor returns styles for stdout.
func (s *IOStreams) Styles() *Styles { return newStyles(s.ColorEnabled(), s) }

// StderrStyles returns styles for stderr.
func (s *IOStreams) StderrStyles() *Styles { return newStyles(s.ColorEnabledStderr(), s) }

func newStyles(enabled bool, s *IOStreams) *Styles {
	r := lipgloss.NewRenderer(s.Out)
	if enabled {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return &Styles{enabled: enabled, r: r}
}

// Enabled reports whether these styles emit escape codes.
func (st *Styles) Enabled() bool { return st.enabled }

func (st *Styles) render(style lipgloss.Style, text string) string {
	if !st.enabled {
		return text
	}
	return style.Render(text)
}

func (st *Styles) fg(color string) lipgloss.Style {
	return st.r.NewStyle().Foreground(lipgloss.Color(color))
}

// Bold makes text bold.
func (st *Styles) Bold(text string) string { return st.render(st.r.NewStyle().Bold(true), text) }

// Success colours text green.
func (st *Styles) Success(text string) string { return st.render(st.fg("2"), text) }

// Warning colours text yellow.
func (st *Styles) Warning(text string) string { return st.render(st.fg("3"), text) }

// Error colours text red.
func (st *Styles) Error(text string) string { return st.render(st.fg("1"), text) }

// Muted greys text out.
func (st *Styles) Muted(text string) string { return st.render(st.fg("8"), text) }

// Accent highlights names and commands.
func (st *Styles) Accent(text string) string { return st.render(st.fg("6"), text) }

// SuccessIcon is a check mark, coloured when colour is on.
func (st *Styles) SuccessIcon() string { return st.Success("✓") }

// WarningIcon is an exclamation mark, coloured when colour is on.
func (st *Styles) WarningIcon() string { return st.Warning("!") }

// FailureIcon is a cross, coloured when colour is on.
func (st *Styles) FailureIcon() string { return st.Error("X") }
