<?php
// php_churn.php ROUNDS: PHP with Debian's shared extensions, which it opens
// with RTLD_DEEPBIND: each one must be loaded (else the case proves
// nothing), then strings, arrays, JSON, regular expressions and several
// extensions' functions churn the heap. Prints a deterministic digest.
$want = ['ctype', 'iconv', 'tokenizer', 'calendar', 'posix', 'exif', 'fileinfo', 'gettext',
         'sockets', 'sysvsem', 'shmop', 'Phar'];
$missing = array_values(array_filter($want, fn($e) => !extension_loaded($e)));
if ($missing) {
    fwrite(STDERR, "extensions not loaded: " . implode(' ', $missing) . "\n");
    exit(1);
}
echo "extensions: ", implode(' ', $want), "\n";
$rounds = (int)($argv[1] ?? 4);
$digest = '';
for ($r = 0; $r < $rounds; $r++) {
    $rows = [];
    for ($i = 0; $i < 20000; $i++) {
        $k = "key" . (($i * 7919 + $r) % 5003);
        $rows[$k][] = str_repeat(chr(65 + $i % 26), $i % 40 + 1);
    }
    ksort($rows);
    $json = json_encode($rows);
    $back = json_decode($json, true);
    $digest = md5($digest . $json . count($back));
    $words = preg_split('/[^A-Z]+/', implode(' ', array_map(fn($v) => implode('-', $v), $back)));
    $digest = hash('sha256', $digest . count($words) . ctype_upper($words[1] ?? '') .
                   iconv('UTF-8', 'ISO-8859-1//TRANSLIT', "caf\u{e9} $r"));
    $tokens = token_get_all('<?php $a = [1, 2, 3]; foreach ($a as $x) { echo $x * ' . $r . '; }');
    $digest = md5($digest . count($tokens) . cal_days_in_month(CAL_GREGORIAN, 2, 2000 + $r));
    $s = '';
    for ($i = 0; $i < 5000; $i++) {
        $s .= sprintf("%05d,", $i * $r);
        if (strlen($s) > 3000) {
            $digest = md5($digest . strrev($s));
            $s = substr($s, 1500);
        }
    }
    unset($rows, $back, $words, $tokens);
}
echo "posix uid known: ", posix_getuid() >= 0 ? "yes" : "no", "\n";
echo "digest: $digest\n";
