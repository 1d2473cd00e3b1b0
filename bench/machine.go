package bench

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Machine describes the machine a benchmark ran on.
type Machine struct {
	CPUs       int    `json:"cpus"`       // runtime.NumCPU
	GOMAXPROCS int    `json:"gomaxprocs"` // runtime.GOMAXPROCS(0)
	CPUModel   string `json:"cpu_model"`  // /proc/cpuinfo "model name"
	MemTotal   string `json:"mem_total"`  // /proc/meminfo "MemTotal"
	GoVersion  string `json:"go_version"`
	OSArch     string `json:"os_arch"`
	// Revision is the VCS revision the binary was built from ("+dirty" if the tree had
	// changes), when the build recorded it (go build does; go run and go test do not).
	Revision string `json:"revision,omitempty"`
}

// DescribeMachine returns the current machine's description (Linux fields are empty
// elsewhere).
func DescribeMachine() Machine {
	return Machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel:   procField("/proc/cpuinfo", "model name"),
		MemTotal:   procField("/proc/meminfo", "MemTotal"),
		GoVersion:  runtime.Version(),
		OSArch:     runtime.GOOS + "/" + runtime.GOARCH,
		Revision:   revision(),
	}
}

func revision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAvg returns the 1, 5 and 15 minute load averages from /proc/loadavg, e.g.
// "1.52 0.98 0.41", or "" where there is no such file.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
