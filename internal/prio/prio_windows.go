package prio

import "golang.org/x/sys/windows"

func lower() (string, error) {
	if err := windows.SetPriorityClass(windows.CurrentProcess(), windows.BELOW_NORMAL_PRIORITY_CLASS); err != nil {
		return "", err
	}
	return "below-normal priority class", nil
}
