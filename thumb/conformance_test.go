package thumb_test

import (
	"testing"

	"github.com/gormthumb/gormthumb/thumb"
	"github.com/gormthumb/gormthumb/thumb/thumbtest"
)

// TestConformance runs the Processor conformance suite on GoProcessor.
func TestConformance(t *testing.T) { thumbtest.Run(t, thumb.GoProcessor{}) }
