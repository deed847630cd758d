# Dict/array/list/string churn for tclsh under the memtype preload.
# Deterministic: own LCG, sorted keys, checksums with zlib crc32 (Tcl 8.6
# core).  Exits 1 on a failed self-check.
set rounds [expr {$argc > 0 ? [lindex $argv 0] : 6}]
set seed 777
proc rnd {n} {
    global seed
    set seed [expr {($seed * 1103515245 + 12345) % 2147483648}]
    return [expr {$seed % $n}]
}
proc word {n} {
    set s ""
    for {set i 0} {$i < $n} {incr i} {
        append s [format %c [expr {97 + [rnd 26]}]]
    }
    return $s
}
proc check {ok what} {
    if {!$ok} { puts "SELF-CHECK FAILED: $what"; exit 1 }
}
proc crc {s} { format %08x [zlib crc32 [encoding convertto utf-8 $s]] }

set all {}
for {set r 1} {$r <= $rounds} {incr r} {
    # dicts: build, nest, update, unset a third, rebuild
    set d [dict create]
    for {set i 0} {$i < 20000} {incr i} {
        dict set d "[word [expr {1 + [rnd 8]}]]$i" [dict create n $i l [lrepeat [rnd 6] x] s [string repeat z [rnd 40]]]
    }
    set keys [lsort [dict keys $d]]
    set k 0
    foreach key $keys {
        if {$k % 3 == 0} { dict unset d $key } else { dict update d $key v { dict incr v n 5 } }
        incr k
    }
    set sum 0
    foreach key [lsort [dict keys $d]] {
        incr sum [dict get $d $key n]
        incr sum [llength [dict get $d $key l]]
    }
    check [expr {[dict size $d] == [llength $keys] - ([llength $keys] + 2) / 3}] "dict unset count"

    # arrays (hash tables with their own growth)
    array unset arr
    for {set i 0} {$i < 30000} {incr i} { set arr(k[expr {$i * 7919 % 30011}]) [list $i [expr {$i * $i}]] }
    foreach name [array names arr k1*] { unset arr($name) }
    set asum 0
    foreach name [lsort [array names arr]] { incr asum [lindex $arr($name) 0] }

    # lists: lappend growth, lsort, lreverse, lrange, lsearch, lmap
    set l {}
    for {set i 0} {$i < 100000} {incr i} { lappend l [rnd 1000000] }
    set s [lsort -integer $l]
    check [expr {[lindex $s 0] <= [lindex $s end]}] "lsort"
    set rev [lreverse [lrange $s 1000 50000]]
    set sq [lmap x [lrange $s 0 9999] { expr {$x % 1000} }]
    set pos [lsearch -sorted -integer $s [lindex $s 777]]

    # strings: append, join/split, map, regsub, format, big strings
    set text ""
    for {set i 0} {$i < 20000} {incr i} { append text [word [expr {1 + [rnd 10]}]] " " }
    set parts [split [string trim $text] " "]
    set up [string map {A <a> E <e>} [string toupper $text]]
    regsub -all {[aeiou]+} $text {_} stripped
    set big [string repeat "xy" [expr {2 << 20}]]
    set big2 [string map {x ab} $big]
    set fmt ""
    for {set i 0} {$i < 10000} {incr i} { append fmt [format "%05d:%s;" $i [lindex $parts [expr {$i % [llength $parts]}]]] }

    set row [list $r [dict size $d] $sum [array size arr] $asum [lindex $s 500] [llength $rev] \
        [tcl::mathop::+ {*}$sq] $pos [llength $parts] [crc $up] [string length $stripped] \
        [string length $big2] [crc $fmt]]
    lappend all $row
    puts "round $r: [crc $row]"
    unset d keys l s rev sq text parts up stripped big big2 fmt
}
puts "final: [crc [join $all \n]]"
puts OK
