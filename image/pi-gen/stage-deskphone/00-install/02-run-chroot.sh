#!/bin/bash -e
# Inside the image: an appliance does not run package maintenance on its own (SD card writes,
# CPU at random times during calls); updates come with a new image. (Nothing here touches
# network-online.target: deskphone.service never waits for it, so the UI is up before the network.)
systemctl disable apt-daily.timer apt-daily-upgrade.timer man-db.timer 2>/dev/null || true
