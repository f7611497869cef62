-- RFC 7081 section 4 for the lab: a room advertises the SIP URI of its audio/video conference in
-- the muc#roominfo form of its disco#info (XEP-0128), as the field muc#roominfo_audio_video_uri.
-- No XEP registers the field; this module is how a CUSAX service could offer it.
--
-- Load it on the MUC component and list the rooms in the component's config:
--   Component "conference.example.org" "muc"
--     modules_enabled = { "muc_av_uri" }
--     muc_av_uris = { ["conf@conference.example.org"] = "sip:conf@example.org" }
-- (plugin_paths must name the directory of this file.)

local jid_bare = require "util.jid".bare;

local FIELD = "muc#roominfo_audio_video_uri";
local uris = module:get_option("muc_av_uris", {});

module:hook("muc-disco#info", function(event)
	local uri = uris[jid_bare(event.room.jid)];
	if not uri then
		return;
	end
	table.insert(event.form, { name = FIELD, type = "text-single", label = "Audio/video conference" });
	event.formdata[FIELD] = uri;
end);
