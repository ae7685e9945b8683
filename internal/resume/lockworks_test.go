package resume

import "runtime"

// lockWorks is whether this system has the file lock the package uses.
var lockWorks = runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1" && runtime.GOOS != "solaris" && runtime.GOOS != "aix" && runtime.GOOS != "illumos"
