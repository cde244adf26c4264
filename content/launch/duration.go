package launch

import (
	"regexp"
	"strconv"
)

var durationRE = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseDuration reads the ISO 8601 durations xAPI results carry (days,
// hours, minutes, seconds; years and months are not used for sessions)
// into seconds.
func parseDuration(s string) (float64, bool) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, false
	}
	mult := []float64{86400, 3600, 60, 1}
	total := 0.0
	for i, unit := range mult {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, false
		}
		total += f * unit
	}
	return total, true
}
