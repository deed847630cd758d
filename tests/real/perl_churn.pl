#!/usr/bin/perl
# Hash/array/string churn for perl under the memtype preload.  Perl's own
# allocator is off in Debian's build (usemymalloc=n), so every SV body, hash
# bucket array and string buffer comes from malloc.  Deterministic output:
# keys are always sorted, digests come from data only.  Exits 1 on a failed
# self-check.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my $rounds = shift // 6;
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed % $_[0]; }
sub word { my $n = shift; join '', map { chr(97 + rnd(26)) } 1 .. $n }
sub check { my ($ok, $what) = @_; unless ($ok) { print "SELF-CHECK FAILED: $what\n"; exit 1; } }

my @all;
for my $r (1 .. $rounds) {
    # Hashes: grow with many keys, nested structures, delete a third.
    my %h;
    for my $i (1 .. 30000) {
        my $k = word(1 + rnd(10)) . $i;
        $h{$k} = { n => $i, list => [ (1) x rnd(6) ], s => 'z' x rnd(40) };
    }
    my @keys = sort keys %h;
    delete @h{ @keys[ grep { $_ % 3 == 0 } 0 .. $#keys ] };
    my $sum = 0;
    $sum += $h{$_}{n} + @{ $h{$_}{list} } for sort keys %h;
    check(scalar(keys %h) == @keys - int((@keys + 2) / 3), "delete count");

    # Arrays: push/shift/splice/sort/reverse/grep/map.
    my @a = map { rnd(1000000) } 1 .. 100000;
    my @s = sort { $a <=> $b } @a;
    check($s[0] <= $s[-1], "sort");
    splice(@s, 1000, 20000, reverse @s[0 .. 999]);
    my @q;
    for my $i (1 .. 50000) { push @q, [$i, "$i"]; shift @q if $i % 3 == 0; }
    my @even = grep { $_->[0] % 2 == 0 } @q;

    # Strings: concatenation, join/split, substitution, sprintf, big strings.
    my $text = join ' ', map { word(1 + rnd(12)) } 1 .. 20000;
    my $acc = '';
    $acc .= "$_," for 1 .. 20000;
    (my $up = uc $text) =~ s/A/<a>/g;
    my @parts = split /\s+/, $up;
    my $big = 'x' x (4 << 20);
    $big =~ s/x/yz/g if $r % 4 == 1;
    my $fmt = join '', map { sprintf "%05d:%s;", $_, $parts[$_ % @parts] } 0 .. 9999;

    # References and cycles broken by hand, closures, local hashes of arrays.
    my %graph;
    for my $i (0 .. 9999) { push @{ $graph{ $i % 997 } }, { id => $i, peer => undef }; }
    for my $list (values %graph) { $_->{peer} = $list->[0] for @$list; }
    for my $list (values %graph) { $_->{peer} = undef for @$list; }
    my @subs = map { my $n = $_; sub { $n * $_[0] } } 1 .. 2000;
    my $csum = 0;
    $csum += $_->(3) for @subs;

    my $row = join '|', $r, scalar(keys %h), $sum, $s[500], scalar(@s), scalar(@q),
        scalar(@even), length($text), length($acc), md5_hex($up), scalar(@parts),
        length($big), md5_hex($fmt), scalar(keys %graph), $csum;
    push @all, $row;
    printf "round %d: %s\n", $r, md5_hex($row);
}
print "final: ", md5_hex(join "\n", @all), "\n";
print "OK\n";
