// Test harness: loads the installer page as Calamares' QmlViewStep does (the
// page's root item, 800x600, then onActivate()) — under qmlscene + Xvfb.
import QtQuick 2.15

Item {
    width: 800
    height: 600
    Loader {
        id: step
        anchors.fill: parent
        source: Qt.application.arguments.filter(function (a) { return a.indexOf("--koder-step=") === 0; })[0].substring(13)
        onLoaded: { console.log("KODER-TEST step loaded"); item.onActivate(); }
        onStatusChanged: if (status === Loader.Error) console.log("KODER-TEST step failed to load")
    }
}
