# SPDX-License-Identifier: MIT
# Sourced by tools/fetch-pythons.sh and tools/build-cpython.sh: an apt
# configuration of the project's own, in a folder of the cache, so that
# downloading Debian's packages or sources installs nothing system-wide.
#
# private_apt DIR [LINE...]   writes DIR/apt.conf (plus LINEs) and its folders,
#                             and exports APT_CONFIG; DIR/sources.list is the
#                             caller's to write.
private_apt() {
	_dir=$1
	shift
	mkdir -p "$_dir/etc/apt.conf.d" "$_dir/etc/sources.list.d" "$_dir/etc/preferences.d" \
		"$_dir/etc/trusted.gpg.d" "$_dir/state/lists/partial" "$_dir/cache/archives/partial"
	# Dir::Etc points at the private folder, so no system apt.conf.d part (hooks,
	# proxies, DEP-11 targets) and no system source applies.
	cat >"$_dir/apt.conf" <<EOC
Dir::State "$_dir/state";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$_dir/cache";
Dir::Etc "$_dir/etc";
Dir::Etc::main "/dev/null";
Dir::Etc::Parts "$_dir/etc/apt.conf.d";
Dir::Etc::SourceList "$_dir/sources.list";
Dir::Etc::SourceParts "$_dir/etc/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$_dir/etc/preferences.d";
Dir::Etc::Trusted "/dev/null";
Dir::Etc::TrustedParts "$_dir/etc/trusted.gpg.d";
APT::Sandbox::User "root";
Acquire::Languages "none";
// The archive reachable here may be a dated snapshot (as this machine's own
// apt configuration assumes): signatures are still checked, dates are not.
Acquire::Check-Valid-Until "false";
Acquire::Retries "2";
Acquire::http::Timeout "30";
EOC
	for _line in "$@"; do
		printf '%s\n' "$_line" >>"$_dir/apt.conf"
	done
	export APT_CONFIG="$_dir/apt.conf"
}
